import mvm

# A long-running service: a command entrypoint (supervised as uid 1000 in
# the guest, restarted with back-off), its port forwarded from
# 127.0.0.1:18080 on the host only.  No egress: the guest can answer, not call.
mvm.app(
    name="web",
    source=mvm.source.local("./src"),
    image=mvm.image.nix_packages(["python3"]),
    resources=mvm.resources(vcpus=1, memory_mb=256),
    dependencies=mvm.deps.none(),
    network=mvm.network.policy(mode="bridge", ports=[mvm.network.port(8000, 18080)]),
    entrypoints=[mvm.command(["python3", "/app/server.py"], working_dir="/app",
                             env={"GREETING": mvm.env.literal("hello from web")})],
)
