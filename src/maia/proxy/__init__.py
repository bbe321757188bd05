"""The OpenAI-compatible proxy: context injection into chat requests and learning from
conversations (see docs/proxy.md)."""
