//! Options as operators write them: by name or code, with a type (`types`) that says
//! how a TOML value becomes option bytes (`value`); the names each family knows without
//! an `option_definition` are in `v4.rs` and `v6.rs`.

mod types;
mod v4;
mod v6;
mod value;

pub use types::OptionType;
pub use v4::{OptionDef, RESERVED_CODES, builtin_by_code, builtin_by_name, builtin_names};
pub use v6::{
    OptionDef6, RESERVED_CODES6, builtin6_by_code, builtin6_by_name, builtin6_names, reserved6,
};
pub use value::{encode_value, parse_hex};
