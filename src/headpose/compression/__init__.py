"""Model compression: structured pruning, knowledge distillation, INT8 (PTQ and QAT), accuracy gates.

Every step trains its child with its parent's recipe (recipe.py), measures it against its parent on
the same data (gates.check_drop) and proves a speedup with measured latency (latency.py), not just
fewer parameters; shipping.py decides, from those measurements, whether INT8 ships.
"""
