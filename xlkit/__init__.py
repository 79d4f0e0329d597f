"""xlkit: protected, validated, formula-driven Excel forms for finance bureaus."""

__version__ = "0.1.0"
