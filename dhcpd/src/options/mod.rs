//! DHCPv4 options as operators write them: by name or code, with a type that says how
//! a TOML value becomes option bytes.

mod catalog;
mod value;

pub use catalog::{OptionDef, OptionType, RESERVED_CODES, builtin_by_code, builtin_by_name};
pub use value::{encode_value, parse_hex};
