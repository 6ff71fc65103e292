"""Request and response models, one module per route family; they validate and feed OpenAPI."""
