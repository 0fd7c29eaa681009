//! What configuration knows of LiveAgent: an API key, its streams, its sample file.

use crate::config::{ConnectorSpec, Login, StreamSpec};
use crate::sources::{SourceKind, stream_specs};

pub struct Spec;

/// LiveAgent as the registry lists it.
pub static SPEC: Spec = Spec;

impl ConnectorSpec for Spec {
    fn name(&self) -> &'static str {
        super::SOURCE
    }

    fn login(&self) -> Login {
        Login::ApiKey
    }

    fn streams(&self) -> Vec<StreamSpec> {
        stream_specs(SourceKind::LiveAgent)
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
