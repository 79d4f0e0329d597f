"""The demo: the main job end to end on the bundled samples (`xlkit demo`), and the sample data it fills in.

Not part of the library's runtime path: nothing below `xlkit.demo` imports it.
"""
