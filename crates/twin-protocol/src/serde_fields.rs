//! Helpers that serde's field attributes name (`skip_serializing_if = "is_false"`, `default = "yes"`).

pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

pub(crate) fn yes() -> bool {
    true
}
