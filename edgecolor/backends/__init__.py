"""Inference backends behind one small Engine protocol."""
