use std::path::Path;

use super::*;

fn errors(text: &str) -> Vec<ConfigError> {
    parse(text, Path::new("/etc/zt/dhcpd.toml")).unwrap_err().0
}

/// The errors of `text` as (key, message).
fn keyed_errors(text: &str) -> Vec<(String, String)> {
    errors(text)
        .into_iter()
        .map(|e| (e.key, e.message))
        .collect()
}

fn pair(key: &str, message: &str) -> (String, String) {
    (key.to_string(), message.to_string())
}

const BASE: &str = r#"
[dhcp4]
interfaces = ["eth0"]
"#;

#[test]
fn minimal_config_gets_documented_defaults() {
    let c = parse(BASE, Path::new("/etc/zt/dhcpd.toml")).unwrap();
    let d = c.dhcp4.unwrap();
    assert_eq!(d.times.lease_time, 3600);
    assert_eq!(d.offer_hold, 30);
    assert_eq!(d.decline_probation, 86_400);
    assert!(!d.authoritative);
    assert_eq!(
        c.leases.database,
        Path::new("/var/lib/zerotouch/leases.sqlite")
    );
    assert_eq!(c.leases.synchronous, Synchronous::Full);
}

#[test]
fn relative_database_path_is_beside_the_config() {
    let c = parse(
        "[leases]\ndatabase = \"leases.sqlite\"\n",
        Path::new("/etc/zt/dhcpd.toml"),
    )
    .unwrap();
    assert_eq!(c.leases.database, Path::new("/etc/zt/leases.sqlite"));
}

#[test]
fn syntax_error_names_file_and_line() {
    let e = &errors("[dhcp4]\ninterfaces = [\"eth0\"\nauthoritative = true\n")[0];
    assert_eq!(e.file, Path::new("/etc/zt/dhcpd.toml"));
    assert!(e.line >= 2, "{e}");
}

#[test]
fn unknown_key_names_its_path_and_the_expected_keys() {
    let e = &errors(&format!(
        "{BASE}[[dhcp4.subnet]]\nsubnet = \"198.18.0.0/24\"\nrouter = \"x\"\n"
    ))[0];
    assert_eq!(e.key, "dhcp4.subnet[0].router");
    assert_eq!(e.line, 6);
    assert!(e.message.contains("unknown field `router`"), "{e}");
}

#[test]
fn type_error_points_at_the_value() {
    let e = &errors("[dhcp4]\ninterfaces = [\"eth0\"]\noffer_hold = \"long\"\n")[0];
    assert_eq!((e.line, e.key.as_str()), (3, "dhcp4.offer_hold"));
    assert!(
        e.message
            .contains("\"long\" is not a time: expected a number of seconds or a duration"),
        "{e}"
    );
}

/// serde stops at the first unknown key or wrong type; `check` reports all of them,
/// each with its line and key, in the docs' words, with the nearest allowed key.
#[test]
fn every_unknown_key_and_type_error_is_reported_in_one_run() {
    let text = r#"
[log]
levl = "info"

[dhcp4]
interfaces = "eth0"
lease_tme = 600
port = 70000
authoritative = "yes"

[[dhcp4.subnet]]
subnet = "198.18.0.0/24"
routers = ["198.18.0.1"]
[[dhcp4.subnet.pool]]
range = ["198.18.0.10", "198.18.0.20"]

[[dhcp4.subnet]]
subnet = 5
interface = ["eth1"]
[[dhcp4.subnet.pool]]
range = "198.18.1.10 - 198.18.1.20"
exclude = ["198.18.1.11", 12]

[dhcp4.unknown_table]
a = 1
"#;
    let e = errors(text);
    let found: Vec<String> = e
        .iter()
        .map(|e| format!("{}:{}: {}: {}", e.line, e.column, e.key, e.message))
        .collect();
    let expect = [
        "3:1: log.levl: unknown field `levl`; did you mean `level`?",
        "6:14: dhcp4.interfaces: expected a list of interface names such as [\"eth0\"], found the string \"eth0\"",
        "7:1: dhcp4.lease_tme: unknown field `lease_tme`; did you mean `lease_time`?",
        "8:8: dhcp4.port: the number 70000 is out of range: expected a whole number from 0 to 65535",
        "9:17: dhcp4.authoritative: expected true or false, found the string \"yes\"",
        "13:1: dhcp4.subnet[0].routers: unknown field `routers`: routers is an option, set in this scope's options table",
        "15:9: dhcp4.subnet[0].pool[0].range: expected a string, found a list",
        "18:10: dhcp4.subnet[1].subnet: expected a string, found the number 5",
        "19:13: dhcp4.subnet[1].interface: expected a string, found a list",
        "22:27: dhcp4.subnet[1].pool[0].exclude[1]: expected a string, found the number 12",
        "24:8: dhcp4.unknown_table: unknown field `unknown_table`",
    ];
    assert_eq!(found.len(), expect.len(), "{found:#?}");
    for (f, x) in found.iter().zip(expect) {
        assert!(f.starts_with(x), "{f}\n  expected to start with\n{x}");
    }
    // No Rust type names leak.
    for f in &found {
        for rust in ["u16", "u32", "sequence", "struct Raw", "IpList"] {
            assert!(!f.contains(rust), "{f}");
        }
    }
}

/// A required key whose value had to be taken out is not reported missing as well.
#[test]
fn a_required_key_taken_out_is_not_reported_twice() {
    for text in [
        "[dhcp4]\ninterfaces = [5]\n",
        "[dhcp4]\ninterfaces = [\"eth0\", 5]\n",
    ] {
        let e = errors(text);
        assert_eq!(e.len(), 1, "{text}: {e:?}");
        assert!(e[0].key.starts_with("dhcp4.interfaces["), "{e:?}");
        assert_eq!(e[0].message, "expected a string, found the number 5");
    }
    // A misspelt required key: the slip, not also "missing field `subnet`".
    let e = errors(&format!(
        "{BASE}[[dhcp4.subnet]]\nsubent = \"198.18.0.0/24\"\n"
    ));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].message.contains("did you mean `subnet`?"), "{e:?}");
}

/// Option names and types in the docs' words, with the nearest known name.
#[test]
fn option_errors_suggest_names_and_use_the_docs_type_names() {
    let e = errors(&format!(
        "{BASE}options = {{ domain-name-server = [\"198.18.0.53\"], routers = \"x\" }}\n"
    ));
    let text: Vec<String> = e.iter().map(|e| e.to_string()).collect();
    assert_eq!(text.len(), 2, "{text:#?}");
    assert!(
        text[0].contains("dhcp4.options.domain-name-server: unknown option \"domain-name-server\"; did you mean \"domain-name-servers\"?"),
        "{text:#?}"
    );
    assert!(
        text[1].contains("(option 3 routers is of type ip-list)"),
        "{text:#?}"
    );
}

/// Times take units wherever a time is configured; plain numbers stay seconds.
#[test]
fn times_accept_durations_with_units() {
    let c = parse(
        "[leases]\nreclaim_interval = \"1m\"\n[dhcp4]\ninterfaces = [\"eth0\"]\nlease_time = \"1h\"\nmax_lease_time = \"7d\"\noffer_hold = 45\ndecline_probation = \"1h30m\"\n\
         [dhcp6]\ninterfaces = [\"eth0\"]\npreferred_lifetime = \"30m\"\nvalid_lifetime = \"1h\"\n",
        Path::new("/etc/zt/dhcpd.toml"),
    )
    .unwrap();
    let d = c.dhcp4.unwrap();
    assert_eq!(d.times.lease_time, 3600);
    assert_eq!(d.times.max_lease_time, 7 * 86_400);
    assert_eq!(d.offer_hold, 45);
    assert_eq!(d.decline_probation, 5400);
    assert_eq!(
        c.leases.reclaim_interval,
        std::time::Duration::from_secs(60)
    );
    let d6 = c.dhcp6.unwrap();
    assert_eq!(d6.lifetimes.preferred, 1800);
    assert_eq!(d6.lifetimes.valid, 3600);
}

#[test]
fn every_semantic_error_is_reported_with_line_and_key() {
    let text = format!(
        r#"{BASE}
[dhcp4.options]
routers = "198.18.0.300"
no-such-option = 1

[[dhcp4.subnet]]
subnet = "198.18.0.1/24"

[[dhcp4.subnet.pool]]
range = "198.18.0.200 - 198.18.0.100"

[[dhcp4.subnet.pool]]
range = "198.18.1.10 - 198.18.1.20"
classes = ["nobody"]

[[dhcp4.host]]
hw_address = "02:00:00:00:00:01"
address = "198.20.0.1"
"#
    );
    let errs = errors(&text);
    let got: Vec<(usize, &str)> = errs.iter().map(|e| (e.line, e.key.as_str())).collect();
    assert_eq!(
        got,
        vec![
            (7, "dhcp4.options.no-such-option"),
            (6, "dhcp4.options.routers"),
            (10, "dhcp4.subnet[0].subnet"),
            (13, "dhcp4.subnet[0].pool[0].range"),
            (16, "dhcp4.subnet[0].pool[1].range"),
            (21, "dhcp4.host[0].address"),
        ],
        "{}",
        ConfigErrors(errs.clone())
    );
    assert!(errs[1].message.contains("expected an IPv4 address"));
    assert!(
        errs[2]
            .message
            .contains("expected the network address: 198.18.0.0/24")
    );
    assert!(
        ConfigErrors(errs)
            .to_string()
            .starts_with("/etc/zt/dhcpd.toml:7:18: dhcp4.options.no-such-option: unknown option")
    );
}

#[test]
fn reserved_codes_cannot_be_configured() {
    let e = &errors(&format!("{BASE}[dhcp4.options]\n\"51\" = 5\n"))[0];
    assert!(e.message.contains("lease time"), "{e}");
}

#[test]
fn custom_option_by_definition_and_always_flag() {
    let c = parse(
        &format!(
            "{BASE}[[dhcp4.option_definition]]\nname = \"site-id\"\ncode = 224\ntype = \"u16\"\n[dhcp4.options]\nsite-id = {{ value = 7, always = true }}\n\"150\" = [\"198.18.0.5\"]\n"
        ),
        Path::new("x.toml"),
    )
    .unwrap();
    let d = c.dhcp4.unwrap();
    assert_eq!(
        d.options.get(224),
        Some(&ConfiguredOption {
            code: 224,
            data: vec![0, 7],
            always: true
        })
    );
    assert_eq!(
        d.options.get(150).map(|o| o.data.clone()),
        Some(vec![198, 18, 0, 5])
    );
}

#[test]
fn lease_time_bounds_are_checked() {
    let e = &errors("[dhcp4]\ninterfaces = [\"eth0\"]\nlease_time = 600\nrebind_time = 700\n")[0];
    assert_eq!(e.key, "dhcp4.rebind_time");
    let t = LeaseTimes {
        lease_time: 600,
        min_lease_time: 60,
        max_lease_time: 1200,
        renew_time: None,
        rebind_time: None,
    };
    assert_eq!(t.grant(Some(10)), 60);
    assert_eq!(t.grant(None), 600);
    assert_eq!(t.t1_t2(600), (300, 525));
}

#[test]
fn hosts_need_exactly_one_identifier_and_unique_addresses() {
    let text = format!(
        "{BASE}[[dhcp4.subnet]]\nsubnet = \"198.18.0.0/24\"\n[[dhcp4.host]]\naddress = \"198.18.0.5\"\n[[dhcp4.host]]\ncircuit_id = \"sw1:1\"\naddress = \"198.18.0.6\"\n[[dhcp4.host]]\nremote_id = \"hex:0a0b\"\naddress = \"198.18.0.6\"\n"
    );
    let errs = errors(&text);
    assert_eq!(errs.len(), 2, "{}", ConfigErrors(errs.clone()));
    assert!(errs[0].message.contains("exactly one of hw_address"));
    assert_eq!(errs[0].line, 7);
    assert!(
        errs[1]
            .message
            .contains("already reserved by dhcp4.host[1]")
    );
}

/// The checks both families' reservations share, with the same words: one identifier
/// each, one reservation per client, addresses inside a subnet and reserved once.
#[test]
fn both_families_check_reservations_alike() {
    let v4 = format!(
        "{BASE}[[dhcp4.subnet]]\nsubnet = \"198.18.0.0/24\"\n\
         [[dhcp4.host]]\nhw_address = \"02:00:00:00:00:01\"\nclient_id = \"x\"\n\
         [[dhcp4.host]]\nhw_address = \"02:00:00:00:00:02\"\naddress = \"198.19.0.1\"\n\
         [[dhcp4.host]]\nhw_address = \"02:00:00:00:00:03\"\naddress = \"198.18.0.7\"\n\
         [[dhcp4.host]]\nhw_address = \"02:00:00:00:00:04\"\naddress = \"198.18.0.7\"\n\
         [[dhcp4.host]]\nhw_address = \"02:00:00:00:00:03\"\n"
    );
    assert_eq!(
        keyed_errors(&v4),
        [
            pair(
                "dhcp4.host[0]",
                "has 2 identifiers, expected exactly one of hw_address, client_id, circuit_id or remote_id"
            ),
            pair(
                "dhcp4.host[1].address",
                "198.19.0.1 is in no configured subnet, expected an address of one of the [[dhcp4.subnet]]"
            ),
            pair(
                "dhcp4.host[3].address",
                "198.18.0.7 is already reserved by dhcp4.host[2]"
            ),
            pair(
                "dhcp4.host[4].hw_address",
                "reserves the same client as an earlier [[dhcp4.host]]"
            ),
        ]
    );
    let v6 = "[dhcp6]\ninterfaces = [\"eth0\"]\n\
        [[dhcp6.subnet]]\nsubnet = \"2001:db8:1::/64\"\ninterface = \"eth0\"\n\
        [[dhcp6.host]]\naddresses = [\"2001:db8:1::5\"]\n\
        [[dhcp6.host]]\nduid = \"00:03:00:01:02:00:00:00:00:02\"\naddresses = [\"2001:db8:2::1\"]\n\
        [[dhcp6.host]]\nduid = \"00:03:00:01:02:00:00:00:00:03\"\naddresses = [\"2001:db8:1::7\"]\n\
        [[dhcp6.host]]\nduid = \"00:03:00:01:02:00:00:00:00:04\"\naddresses = [\"2001:db8:1::7\"]\n\
        [[dhcp6.host]]\nduid = \"00:03:00:01:02:00:00:00:00:03\"\n";
    assert_eq!(
        keyed_errors(v6),
        [
            pair(
                "dhcp6.host[0]",
                "has 0 identifiers, expected exactly one of duid or hw_address"
            ),
            pair(
                "dhcp6.host[1].addresses[0]",
                "2001:db8:2::1 is in no configured subnet, expected an address of one of the [[dhcp6.subnet]]"
            ),
            pair(
                "dhcp6.host[3].addresses[0]",
                "2001:db8:1::7 is already reserved by dhcp6.host[2]"
            ),
            pair(
                "dhcp6.host[4].duid",
                "reserves the same client as an earlier [[dhcp6.host]]"
            ),
        ]
    );
}

#[test]
fn every_example_in_the_config_folder_loads() {
    // The crate's folder is the design card's `config/`: the examples beside its manifest.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        // relay*.toml are zerotouch-relay's (loaded by its own tests).
        let relay = path.file_name().is_some_and(|n| {
            let n = n.to_string_lossy();
            n.starts_with("relay") || n == "Cargo.toml"
        });
        if path.extension().is_some_and(|e| e == "toml") && !relay {
            load(&path).unwrap_or_else(|e| panic!("{e}"));
            n += 1;
        }
    }
    assert!(
        n >= 2,
        "expected the example configurations in {}",
        dir.display()
    );
    let full6 = load(&dir.join("full.toml")).unwrap().dhcp6.unwrap();
    assert_eq!(
        (
            full6.subnets.len(),
            full6.classes.len(),
            full6.hosts.list.len(),
            full6.subnets[0].pd_pools.len()
        ),
        (2, 1, 2, 1)
    );
    assert_eq!(full6.lifetimes.t1_t2(3600), (1800, 2880));
    let full = load(&dir.join("full.toml")).unwrap().dhcp4.unwrap();
    assert_eq!(
        (
            full.subnets.len(),
            full.classes.len(),
            full.hosts.list.len()
        ),
        (3, 4, 4)
    );
}

#[test]
fn the_embedded_default_is_the_shipped_default() {
    assert_eq!(
        crate::DEFAULT_CONFIG,
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/default.toml")
        )
        .unwrap()
    );
}

#[test]
fn boot_header_fields_must_fit_their_fields() {
    let long = "f".repeat(128);
    let e = &errors(&format!(
        "{BASE}next_server = \"tftp\"\nboot_file_name = \"{long}\"\n"
    ));
    assert_eq!(e.len(), 2, "{}", ConfigErrors(e.clone()));
    assert_eq!((e[0].key.as_str(), e[0].line), ("dhcp4.next_server", 4));
    assert!(
        e[1].message.contains("is 128 octets, expected 1 to 127"),
        "{}",
        e[1]
    );
}

#[test]
fn the_benchmark_configuration_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/zerotouch.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("@INTERFACE@", "veth0")
        .replace("@DATABASE@", "/tmp/x.sqlite");
    let d = parse(&text, &path)
        .unwrap_or_else(|e| panic!("{e}"))
        .dhcp4
        .unwrap();
    assert_eq!(
        d.subnets[0].options.get(143).map(|o| o.data.len()),
        Some(30)
    );
}

/// A `[[plugin]]` table of the noop plugin as `instance`, with `extra` lines.
fn noop_table(instance: &str, extra: &str) -> String {
    format!("[[plugin]]\nname = \"noop\"\ninstance = \"{instance}\"\n{extra}\n")
}

fn instances(text: &str) -> Vec<String> {
    parse(text, Path::new("/etc/zt/dhcpd.toml"))
        .unwrap()
        .plugins
        .iter()
        .map(|p| p.instance.clone())
        .collect()
}

/// Instances run in table order, except that `after` puts an instance after the ones
/// it names; a disabled instance named in `after` is no constraint.
#[test]
fn plugins_run_in_table_order_unless_after_says_otherwise() {
    let table = noop_table;
    let text = format!(
        "{BASE}{}{}{}{}",
        table("a", "after = [\"c\"]"),
        table("b", ""),
        table("c", ""),
        table("d", "after = [\"off\"]\n[plugin.settings]\n"),
    ) + &table("off", "enabled = false");
    assert_eq!(instances(&text), ["b", "c", "a", "d"]);
    let text = format!("{BASE}{}{}", table("a", ""), table("b", ""));
    assert_eq!(instances(&text), ["a", "b"]);
}

#[test]
fn plugin_order_errors_name_the_unknown_instance_and_the_cycle() {
    let table = |instance: &str, after: &str| noop_table(instance, &format!("after = [{after}]"));
    let text = format!(
        "{BASE}{}{}{}{}",
        table("a", "\"b\""),
        table("b", "\"c\""),
        table("c", "\"a\""),
        table("d", "\"sitee\", \"d\""),
    ) + &noop_table("site", "");
    let e: Vec<String> = errors(&text).iter().map(|e| e.to_string()).collect();
    assert_eq!(e.len(), 5, "{e:#?}");
    assert!(e.iter().any(|l| l.contains("plugin[3].after: \"sitee\" is not a plugin instance of this file; did you mean \"site\"?")), "{e:#?}");
    assert!(
        e.iter()
            .any(|l| l.contains("plugin[3].after: instance \"d\" cannot run after itself")),
        "{e:#?}"
    );
    let cycle: Vec<&String> = e
        .iter()
        .filter(|l| l.contains("the plugin order has a cycle: a after b after c after a"))
        .collect();
    assert_eq!(
        cycle.len(),
        3,
        "one error at each instance of the cycle: {e:#?}"
    );
    assert!(cycle[0].starts_with("/etc/zt/dhcpd.toml:7:"), "{e:#?}");
}

/// One check serves the class matches of both families; each family names its own relay
/// fields and option codes in the errors.
#[test]
fn class_match_errors_of_both_families() {
    let text = r#"
[dhcp4]
interfaces = ["eth0"]

[[dhcp4.class]]
name = "a"
match = { option = 300, exact = "x" }

[[dhcp4.class]]
name = "b"
match = { relay = "interface-id", exact = "x" }

[[dhcp4.class]]
name = "c"
match = { exact = "x" }

[dhcp6]
interfaces = ["eth0"]

[[dhcp6.class]]
name = "d"
match = { relay = "circuit-id", exact = "x" }

[[dhcp6.class]]
name = "e"
match = { option = 300, relay = "remote-id", exact = "x" }
"#;
    let got = keyed_errors(text);
    assert_eq!(
        got,
        vec![
            pair(
                "dhcp4.class[0].match.option",
                "got 300, expected a DHCPv4 option code from 0 to 255"
            ),
            pair(
                "dhcp4.class[1].match.relay",
                "got \"interface-id\", expected \"circuit-id\" or \"remote-id\""
            ),
            pair(
                "dhcp4.class[2].match",
                "expected exactly one of option = CODE or relay = \"circuit-id\" | \"remote-id\""
            ),
            pair(
                "dhcp6.class[0].match.relay",
                "got \"circuit-id\", expected \"interface-id\" or \"remote-id\""
            ),
            pair(
                "dhcp6.class[1].match",
                "expected exactly one of option = CODE or relay = \"interface-id\" | \"remote-id\""
            ),
        ]
    );
}

/// One check keeps the subnets of either section disjoint.
#[test]
fn overlapping_subnets_are_refused_in_both_families() {
    let text = r#"
[dhcp4]
interfaces = ["eth0"]

[[dhcp4.subnet]]
subnet = "198.18.0.0/16"

[[dhcp4.subnet]]
subnet = "198.18.4.0/24"

[dhcp6]
interfaces = ["eth0"]

[[dhcp6.subnet]]
subnet = "2001:db8:1::/64"

[[dhcp6.subnet]]
subnet = "2001:db8::/32"
"#;
    let got: Vec<String> = errors(text).iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        vec![
            "/etc/zt/dhcpd.toml:9:10: dhcp4.subnet[1].subnet: 198.18.4.0/24 overlaps dhcp4.subnet[0] 198.18.0.0/16, expected disjoint subnets",
            "/etc/zt/dhcpd.toml:18:10: dhcp6.subnet[1].subnet: 2001:db8::/32 overlaps dhcp6.subnet[0] 2001:db8:1::/64, expected disjoint subnets",
        ]
    );
}

/// Class names, in either section: defined once, and a pool names only its section's.
#[test]
fn class_names_are_unique_and_pools_name_their_sections_classes() {
    let text = r#"
[dhcp4]
interfaces = ["eth0"]

[[dhcp4.class]]
name = "switches"
match = { option = 60, prefix = "SW" }

[[dhcp4.class]]
name = "switches"
match = { option = 60, prefix = "XX" }

[[dhcp4.subnet]]
subnet = "198.18.0.0/24"

[[dhcp4.subnet.pool]]
range = "198.18.0.10 - 198.18.0.20"
classes = ["routers"]

[dhcp6]
interfaces = ["eth0"]

[[dhcp6.class]]
name = "routers"
match = { option = 16, prefix = "RT" }

[[dhcp6.class]]
name = "routers"
match = { option = 16, prefix = "XX" }

[[dhcp6.subnet]]
subnet = "2001:db8:1::/64"

[[dhcp6.subnet.pool]]
range = "2001:db8:1::10 - 2001:db8:1::20"
classes = ["switches"]
"#;
    let got = keyed_errors(text);
    for e in [
        pair("dhcp4.class[1].name", "class \"switches\" is defined twice"),
        pair(
            "dhcp4.subnet[0].pool[0].classes[0]",
            "unknown class \"routers\", expected the name of a [[dhcp4.class]]",
        ),
        pair("dhcp6.class[1].name", "class \"routers\" is defined twice"),
        pair(
            "dhcp6.subnet[0].pool[0].classes[0]",
            "unknown class \"switches\", expected the name of a [[dhcp6.class]]",
        ),
    ] {
        assert!(got.contains(&e), "missing {e:?} in {got:?}");
    }
    assert_eq!(got.len(), 4, "{got:?}");
}

#[test]
fn postgresql_leases_get_their_defaults_and_every_error_is_named_at_once() {
    let c = parse(
        &format!(
            "{BASE}[leases]\npostgresql = {{ url = \"host=/run/postgresql dbname=leases\" }}\n"
        ),
        Path::new("/etc/zt/dhcpd.toml"),
    )
    .unwrap();
    let pg = c.leases.postgresql.unwrap();
    assert_eq!(pg.url, "host=/run/postgresql dbname=leases");
    assert_eq!((pg.server_name, pg.claim_block), (None, 256));
    assert_eq!(pg.claim_lifetime, std::time::Duration::from_secs(30));
    assert!(!pg.upgrade_schema);

    let got = keyed_errors(&format!(
        "{BASE}[leases]\ndatabase = \"l.sqlite\"\n[leases.postgresql]\nurl = \"postgresql://\"\nserver_name = \" \"\nclaim_block = 0\nclaim_lifetime = 1\n"
    ));
    let keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "leases.database",
            "leases.postgresql.url",
            "leases.postgresql.server_name",
            "leases.postgresql.claim_block",
            "leases.postgresql.claim_lifetime"
        ],
        "{got:?}"
    );
    assert!(got[1].1.contains("names no host"), "{got:?}");
    assert!(got[3].1.contains("expected 1 to 65536"), "{got:?}");
}
