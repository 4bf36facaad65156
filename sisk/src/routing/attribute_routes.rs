//! Attribute routes (filled in by the macros work).
