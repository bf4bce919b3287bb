"""Lip-sync data, training and evaluation: speechdata, flite, realspeech -> train_lips; eval_lips, eval_motion."""
