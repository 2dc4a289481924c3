"""Ferry packages (跨网摆渡): events and images as self-describing files across a gateway."""
