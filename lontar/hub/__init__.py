"""Publishing: the hub-ready folder, its model card, and the upload."""
