"""The providers: OpenAI-compatible, Ollama, Anthropic, and the built-in mock."""

from __future__ import annotations

from maia.inference.providers.anthropic import AnthropicProvider
from maia.inference.providers.mock import MockProvider
from maia.inference.providers.ollama import OllamaProvider
from maia.inference.providers.openai import OpenAIProvider

__all__ = ["AnthropicProvider", "MockProvider", "OllamaProvider", "OpenAIProvider"]
