"""Using trained generators: stylizing images (tiled, any size), SavedModel export, verification."""
