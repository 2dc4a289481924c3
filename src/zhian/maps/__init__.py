"""The map (一张图): base layers, coordinate systems and the layers drawn over them."""
