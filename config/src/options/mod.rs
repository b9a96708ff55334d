//! DHCPv4 and DHCPv6 (`catalog6`) options as operators write them: by name or code, with a type that says how
//! a TOML value becomes option bytes.

mod catalog;
mod catalog6;
mod value;

pub use catalog::{
    OptionDef, OptionType, RESERVED_CODES, builtin_by_code, builtin_by_name, builtin_names,
};
pub use catalog6::{
    OptionDef6, RESERVED_CODES6, builtin6_by_code, builtin6_by_name, builtin6_names, reserved6,
};
pub use value::{encode_value, parse_hex};
