//! The arguments that scope `profile` and `agent` to a cgroup: `--cgroup`, `--unit`,
//! `--container` (one of them), resolved through `armtune_probes::cgroups`.

use std::path::PathBuf;

use armtune_probes::cgroups::Cgroup;

/// Which cgroup's processes to record.
#[derive(clap::Args, Debug, Default)]
pub struct Scope {
    /// Record only the processes in this cgroup (v2) and its children, whenever they run: a
    /// directory under the cgroup2 mount, or a path as /proc/PID/cgroup writes it
    /// (/system.slice/nginx.service).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["unit", "container"])]
    pub cgroup: Option<PathBuf>,
    /// Record only the processes of this systemd unit (nginx.service; .service is added to a bare
    /// name), by its cgroup.
    #[arg(long, value_name = "NAME", conflicts_with = "container")]
    pub unit: Option<String>,
    /// Record only the processes of this container (Docker, Podman, CRI-O, containerd): its id, a
    /// unique prefix of it, or a Docker or Podman name. Found by its cgroup; no daemon is asked.
    #[arg(long, value_name = "ID")]
    pub container: Option<String>,
}

impl Scope {
    /// The cgroup asked for, if any; an error names what could not be found.
    pub fn cgroup(&self) -> anyhow::Result<Option<Cgroup>> {
        Ok(Some(if let Some(path) = &self.cgroup {
            Cgroup::by_path(path)?
        } else if let Some(unit) = &self.unit {
            Cgroup::by_unit(unit)?
        } else if let Some(id) = &self.container {
            Cgroup::by_container(id)?
        } else {
            return Ok(None);
        }))
    }
}
