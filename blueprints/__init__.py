"""One module per area of the UI, each exporting `bp`."""
