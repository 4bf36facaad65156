//! Serving files from a directory, mirroring Sisk's `Sisk.Core.Http.FileSystem` namespace. For now: the
//! media type of a file, guessed from its extension.

mod content_type;

pub(crate) use content_type::content_type_for;
