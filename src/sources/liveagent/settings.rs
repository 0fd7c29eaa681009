//! What configuration knows of LiveAgent: an API key, its streams, its sample file.

use crate::config::PipelineConfig;
use crate::config::{ConnectorSpec, Login, StreamSpec};
use crate::http::HttpClient;
use crate::sources::{Connection, Connector, StreamInfo, stream_specs};

pub struct Spec;

/// LiveAgent as the registry lists it.
pub static CONNECTOR: Spec = Spec;

impl ConnectorSpec for Spec {
    fn name(&self) -> &'static str {
        super::SOURCE
    }

    fn login(&self) -> Login {
        Login::ApiKey
    }

    fn streams(&self) -> Vec<StreamSpec> {
        stream_specs(&self.stream_infos())
    }

    fn sample(&self, name: &str) -> (String, String) {
        (
            format!(
                "source = \"liveagent\"\n\
             base_url = \"https://{name}.ladesk.com\"        # your account's address; the API lives under /api\n\
             account = \"{name}\"                            # stored in every row's `account` column\n\
             api_key = \"${{LIVEAGENT_API_KEY}}\"           # by reference only; or: api_key_file = \"/run/secrets/liveagent\"\n\
             timezone = \"UTC\"                             # the zone the account reports times in (old accounts: America/Phoenix)\n"
            ),
            String::new(),
        )
    }
}

impl Connector for Spec {
    fn stream_infos(&self) -> Vec<StreamInfo> {
        let mut v = super::STREAMS.to_vec();
        v.extend(super::catalog::stream_infos());
        v.push(super::catalog::AGENTS_INFO);
        v.sort_by_key(|s| s.order);
        v
    }

    fn windowable(&self, stream: &str) -> bool {
        stream == "conversations" || stream == "customers" || stream.starts_with("report_")
    }
    fn http_client(&self, cfg: &PipelineConfig) -> HttpClient {
        super::http_client(cfg)
    }

    fn open(&self, cfg: &PipelineConfig, http: HttpClient) -> Box<dyn Connection> {
        Box::new(super::LiveAgent::new(cfg, http))
    }
}

crate::sources::connection!(super::LiveAgent);
