//! Server configurations for tests, built piece by piece instead of written out as
//! TOML each time: a lease database, `[dhcp4]`/`[dhcp6]` with their interfaces,
//! subnets with a pool, classes and `[[plugin]]` tables, each taking extra TOML lines
//! for what a test needs beyond the common shape.

use std::fmt::Write;
use std::path::Path;

/// A `zerotouch-dhcpd` configuration being built; [`ServerConfig::text`] gives the TOML.
#[derive(Debug, Clone, Default)]
pub struct ServerConfig {
    head: String,
    dhcp4: String,
    dhcp6: String,
    plugins: String,
}

impl ServerConfig {
    /// A configuration whose lease database is `leases`.
    pub fn new(leases: &Path) -> Self {
        ServerConfig {
            head: format!("[leases]\ndatabase = \"{}\"\n", leases.display()),
            ..Default::default()
        }
    }

    /// `[dhcp4]` serving `interfaces`, with `extra` lines (`authoritative = true`).
    pub fn dhcp4(mut self, interfaces: &[&str], extra: &str) -> Self {
        let _ = write!(
            self.dhcp4,
            "\n[dhcp4]\ninterfaces = {}\n{extra}\n",
            list(interfaces)
        );
        self
    }

    /// A DHCPv4 subnet with one pool (`"198.18.0.100 - 198.18.0.150"`) and `extra`
    /// lines in the subnet's table.
    pub fn subnet4(mut self, subnet: &str, pool: &str, extra: &str) -> Self {
        let _ = write!(
            self.dhcp4,
            "\n[[dhcp4.subnet]]\nsubnet = \"{subnet}\"\n{extra}\n[[dhcp4.subnet.pool]]\nrange = \"{pool}\"\n"
        );
        self
    }

    /// A DHCPv4 class `name` matching `matches` (`{ option = 60, exact = "slow" }`), with
    /// `extra` lines.
    pub fn class4(mut self, name: &str, matches: &str, extra: &str) -> Self {
        let _ = write!(
            self.dhcp4,
            "\n[[dhcp4.class]]\nname = \"{name}\"\nmatch = {matches}\n{extra}\n"
        );
        self
    }

    /// `[dhcp6]` serving `interfaces`, with `extra` lines.
    pub fn dhcp6(mut self, interfaces: &[&str], extra: &str) -> Self {
        let _ = write!(
            self.dhcp6,
            "\n[dhcp6]\ninterfaces = {}\n{extra}\n",
            list(interfaces)
        );
        self
    }

    /// A DHCPv6 subnet with one address pool, and `extra` lines in the subnet's table.
    pub fn subnet6(mut self, subnet: &str, pool: &str, extra: &str) -> Self {
        let _ = write!(
            self.dhcp6,
            "\n[[dhcp6.subnet]]\nsubnet = \"{subnet}\"\n{extra}\n[[dhcp6.subnet.pool]]\nrange = \"{pool}\"\n"
        );
        self
    }

    /// A `[[plugin]]` table for `name`, with `extra` lines (`on_error = "drop"`,
    /// `[plugin.settings]` ...).
    pub fn plugin(mut self, name: &str, extra: &str) -> Self {
        let _ = write!(self.plugins, "\n[[plugin]]\nname = \"{name}\"\n{extra}\n");
        self
    }

    /// The configuration as TOML.
    pub fn text(&self) -> String {
        format!("{}{}{}{}", self.head, self.dhcp4, self.dhcp6, self.plugins)
    }
}

/// A TOML list of strings.
fn list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("\"{i}\"")).collect();
    format!("[{}]", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the builder writes is a configuration the server accepts, with the pieces
    /// in the sections they belong to.
    #[test]
    fn built_configurations_parse() {
        let text = ServerConfig::new(Path::new("/tmp/x.sqlite"))
            .dhcp4(&["eth0"], "authoritative = true")
            .class4("slow", "{ option = 60, exact = \"slow\" }", "")
            .subnet4("198.18.0.0/24", "198.18.0.100 - 198.18.0.150", "")
            .dhcp6(&["eth0"], "")
            .subnet6(
                "2001:db8:1::/64",
                "2001:db8:1::100 - 2001:db8:1::ffff",
                "interface = \"eth0\"",
            )
            .plugin("noop", "on_error = \"drop\"")
            .text();
        let cfg = zerotouch_config::parse(&text, Path::new("t.toml"))
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let dhcp4 = cfg.dhcp4.unwrap();
        assert!(dhcp4.authoritative);
        assert_eq!(dhcp4.classes.len(), 1);
        assert_eq!(dhcp4.subnets.len(), 1);
        assert_eq!(cfg.dhcp6.unwrap().subnets.len(), 1);
        assert_eq!(cfg.plugins.len(), 1);
    }
}
