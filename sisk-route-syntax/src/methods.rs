//! The table of route methods: one line per HTTP method a route can answer, plus `Any`.

/// Hands the table of route methods to the macro `$callback`, so that every list of methods in sisk is
/// generated from this one.
///
/// `$callback` is invoked as
///
/// ```text
/// $callback! {
///     methods { $( Variant WIRE attribute router_helper constructor "doc"; )* }
///     any { Any attribute router_helper constructor "doc" }
/// }
/// ```
///
/// where `Variant` is the `RouteMethod` variant, `WIRE` the method's name on the wire (also the name of
/// its `http::Method` constant), `attribute` the attribute macro (`route_get`), `router_helper` the
/// `Router` method (`map_get`), `constructor` the `Route` function (`get`) and `"doc"` what the method
/// answers, for documentation. `Any` stands apart: it is not an HTTP method but every method.
///
/// ```
/// macro_rules! wire_names {
///     (methods { $($variant:ident $wire:ident $attr:ident $map:ident $ctor:ident $doc:literal;)* }
///      any { $($any:tt)* }) => {
///         [$(stringify!($wire)),*]
///     };
/// }
/// let names = sisk_route_syntax::route_methods!(wire_names);
/// assert_eq!(names, ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]);
/// ```
#[macro_export]
macro_rules! route_methods {
    ($callback:ident) => {
        $callback! {
            methods {
                Get GET route_get map_get get
                    "`GET` (also answers `HEAD` when the path has no `HEAD` route; the body is left out)";
                Post POST route_post map_post post "`POST`";
                Put PUT route_put map_put put "`PUT`";
                Patch PATCH route_patch map_patch patch "`PATCH`";
                Delete DELETE route_delete map_delete delete "`DELETE`";
                Head HEAD route_head map_head head "`HEAD`";
                Options OPTIONS route_options map_options options "`OPTIONS`";
            }
            any { Any route_any map_any any "every method" }
        }
    };
}
