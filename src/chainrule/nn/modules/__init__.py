"""PyTorch's ``torch.nn.modules`` path, for code that imports from it: :mod:`.utils`."""
