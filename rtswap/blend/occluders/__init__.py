"""What covers a target face and stays on top of the swap: the skin model (hair, glasses' frames,
hands of another tone), glasses' rims by their shape, hands' silhouettes, and the per-track maps
that keep them between looks."""
