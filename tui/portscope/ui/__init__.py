"""The Textual dashboard; everything below `portscope.ui` may import textual, nothing else does."""
