"""Master data (一标三实): places, housing, residents and vehicles."""
