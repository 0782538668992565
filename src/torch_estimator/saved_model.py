"""Loading exported models: ``te.saved_model.load(export_dir)``."""

from torch_estimator.export._loader import SavedModel, load

__all__ = ["load", "SavedModel"]
