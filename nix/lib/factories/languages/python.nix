# Python: the repo's agent/wrappers/python runners (see agent/wrappers/README.md
# "In an image").  The runner's shebang is "#!/usr/bin/env python3": mkGuest
# puts busybox's env in /usr/bin and the interpreter in /usr/local/bin, which
# is on the agent's PATH, so the file is installed byte for byte as the
# Debian backend installs it (no shebang rewrite).
{ pkgs, mvmSrc }:
let
  dir = mvmSrc + "/agent/wrappers/python";
in
{
  language = "python";
  # msgpack is the wrappers' only dependency (format = "msgpack").
  servicePackages = [ (pkgs.python3.withPackages (ps: [ ps.msgpack ])) ];
  runnerScript = {
    oneshot = dir + "/oneshot.py";
    longrunning = dir + "/longrunning.py";
  };
  # What the runner imports from beside itself.
  runnerFiles = {
    "/usr/lib/mvm/wrappers/mvm_wrapper_common.py" = { source = dir + "/mvm_wrapper_common.py"; mode = "0444"; };
    "/usr/lib/mvm/wrappers/mvm_json.py" = { source = dir + "/mvm_json.py"; mode = "0444"; };
  };
  # Build-time steps on the app tree (none for Python).
  appBuildCommand = null;
}
