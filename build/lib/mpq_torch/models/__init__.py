"""Built-in model entries: ``minilm`` (the bundled measured sample) and ``sd14`` (SD 1.4 UNet)."""
