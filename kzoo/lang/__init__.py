"""Loading architecture files: safe YAML with marks, extends, overrides, schema."""

from kzoo.lang.resolve import Spec, load_spec, parse_override

__all__ = ["Spec", "load_spec", "parse_override"]
