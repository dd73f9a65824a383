# Sourced by the scripts that run on the lent GPU (run.sh, standin.sh alone): unpacks the Vulkan
# loader and validation layer carried in .gl, points the loader at NVIDIA's driver, and records
# the machine in $out/machine.txt ($out: the caller's output folder).
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
if ! ls /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json >/dev/null 2>&1; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
{
  date -u +%Y-%m-%dT%H:%M:%SZ
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv
} > "$out/machine.txt" 2>&1
cat "$out/machine.txt"
