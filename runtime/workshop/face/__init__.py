"""Face models and renderer quality: convert_models, reference_check; samples, check, quality, docsheets."""
