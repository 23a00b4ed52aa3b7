"""Under Kedro, every parameter block is parsed once (headpose.hooks.TypedParamsContext) and nodes
receive typed configs."""

from collections import Counter

from kedro.framework.session import KedroSession

from headpose import parameters
from headpose.compression.distillation import DistillConfig
from headpose.compression.shipping import QuantizeConfig


def test_each_block_is_parsed_once_and_reaches_the_catalog_typed(kedro_project, monkeypatch):
    calls = Counter()
    parse = parameters._parse_section

    def counted(kind, section, params):
        calls[section] += 1
        return parse(kind, section, params)

    monkeypatch.setattr(parameters, "_parse_section", counted)
    with KedroSession.create(project_path=kedro_project, env="test") as session:
        context = session.load_context()
        catalog = context.catalog
        assert context.catalog is not catalog  # a second catalog reuses the one parse
        distill = catalog.load("params:distill")
        assert isinstance(distill, DistillConfig) and distill.max_drop_deg == 90.0  # conf/test over conf/base
        assert isinstance(catalog.load("params:quantize"), QuantizeConfig)
        assert catalog.load("params:synth.image_size") == 64  # nested entries still resolve
        assert catalog.load("params:mix") == context.config_loader["parameters"]["mix"]  # untyped: a mapping
    assert set(calls) == set(parameters.section_types()) and set(calls.values()) == {1}
