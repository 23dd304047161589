"""Language-model back-ends: the bundled local model, OpenAI and OpenAI-compatible servers."""
