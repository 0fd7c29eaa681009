//! What configuration knows of Liveforce: HTTP Basic, its streams, and its own `[liveforce]`
//! section (paths and paging of its undocumented list calls), parsed and checked here.

use serde::Deserialize;

use crate::config::PipelineConfig;
use crate::config::{ConnectorSpec, Login, StreamSpec};
use crate::http::HttpClient;
use crate::sources::{Connection, Connector, StreamInfo, stream_specs};

/// `[liveforce]` of a pipeline. The defaults follow the documented call's style
/// (`/ticket/create`) and Perfex's paging; every one can be overridden.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct LiveforceSettings {
    /// Name of the page-number parameter. Default: `page`.
    pub page_param: String,
    /// Name of the page-size parameter. Default: `per_page`.
    pub per_page_param: String,
    /// Rows asked per page (Perfex silently clamps to 100; desksync copes either way).
    /// Default: `100`.
    pub per_page: usize,
    /// Path overrides by call name (`tickets`, `ticket_details`, `ticket_statuses`, `staff`,
    /// `call_logs`, `leads`, `lead_notes`, `leads_by_status`, `leads_summary`, `deals`,
    /// `deal_sources`, `deal_stages`, `deal_services`); `{id}` stands for the record's id.
    pub paths: std::collections::BTreeMap<String, String>,
}

impl Default for LiveforceSettings {
    fn default() -> Self {
        LiveforceSettings {
            page_param: "page".into(),
            per_page_param: "per_page".into(),
            per_page: 100,
            paths: Default::default(),
        }
    }
}

impl LiveforceSettings {
    /// The settings of a validated section (defaults without one).
    pub fn from_section(section: Option<&toml::Value>) -> LiveforceSettings {
        section.and_then(|v| v.clone().try_into().ok()).unwrap_or_default()
    }
}

pub struct Spec;

/// Liveforce as the registry lists it.
pub static CONNECTOR: Spec = Spec;

impl ConnectorSpec for Spec {
    fn name(&self) -> &'static str {
        super::SOURCE
    }

    fn login(&self) -> Login {
        Login::Password { md5: false }
    }

    fn streams(&self) -> Vec<StreamSpec> {
        stream_specs(&self.stream_infos())
    }

    fn section(&self) -> Option<&'static str> {
        Some("liveforce")
    }

    fn check_section(&self, section: &toml::Value) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let mut unknown = Vec::new();
        let parsed: Result<LiveforceSettings, _> =
            serde_ignored::deserialize(section.clone(), |p| unknown.push(p.to_string()));
        problems.extend(unknown.into_iter().map(|k| (k, "unknown key".to_string())));
        let lf = match parsed {
            Ok(lf) => lf,
            Err(e) => {
                problems.push((String::new(), e.to_string()));
                return problems;
            }
        };
        if lf.per_page == 0 {
            problems.push(("per_page".into(), "must be at least 1".into()));
        }
        for (call, path) in &lf.paths {
            if !super::CALLS.iter().any(|(c, _)| c == call) {
                let known: Vec<&str> = super::CALLS.iter().map(|(c, _)| *c).collect();
                problems.push((format!("paths.{call}"), format!("unknown call (known: {})", known.join(", "))));
            } else if !path.starts_with('/') {
                problems.push((format!("paths.{call}"), format!("'{path}' must start with /")));
            }
        }
        problems
    }

    fn sample(&self, name: &str) -> (String, String) {
        (
            format!(
            "source = \"liveforce\"\n\
             base_url = \"https://crm.example.com/api\"   # where POST /ticket/create answers\n\
             account = \"{name}\"                         # stored in every row's `account` column\n\
             username = \"api-user\"                      # HTTP Basic user\n\
             password = \"${{LIVEFORCE_PASSWORD}}\"       # by reference only; or: password_file = \"/run/secrets/liveforce\"\n\
             timezone = \"UTC\"                           # Perfex dates are server-local: the server's zone\n"
            ),
            "\n# The list calls are not documented: these are desksync's inferred defaults; override any of\n\
             # them if your server differs (`desksync streams` marks every inferred call).\n\
             [liveforce]\n\
             # per_page = 100                               # rows asked per page (Perfex clamps to 100)\n\
             # page_param = \"page\"                         # name of the page-number parameter\n\
             # per_page_param = \"per_page\"                 # name of the page-size parameter\n\
             # paths.tickets = \"/ticket/list\"              # any call's path: tickets, ticket_details, ticket_statuses,\n\
             #                                              # staff, call_logs, leads, lead_notes, leads_by_status,\n\
             #                                              # leads_summary, deals, deal_sources, deal_stages, deal_services\n".to_string(),
        )
    }
}

impl Connector for Spec {
    fn stream_infos(&self) -> Vec<StreamInfo> {
        super::STREAMS.to_vec()
    }

    fn http_client(&self, cfg: &PipelineConfig) -> HttpClient {
        super::http_client(cfg)
    }

    fn open(&self, cfg: &PipelineConfig, http: HttpClient) -> Box<dyn Connection> {
        Box::new(super::Liveforce::new(cfg, http))
    }
}

crate::sources::connection!(super::Liveforce);
