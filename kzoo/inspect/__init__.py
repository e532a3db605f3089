"""Looking inside models: diagrams of architectures (no Keras needed)."""
