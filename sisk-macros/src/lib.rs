//! Attribute routes for sisk (work in progress).
