"""Model compression: structured pruning, knowledge distillation, INT8 (PTQ and QAT), accuracy gates.

Every step measures its child against its parent on the same data (gates.check_drop) and proves a
speedup with measured latency (latency.py), not just fewer parameters.
"""
