// Why Dawn found no adapter on Linux, where its only backend for GPUs is Vulkan: is the Vulkan
// loader loadable, and which driver (ICD) manifests would it read? The search follows the Vulkan
// loader's documented order (LoaderDriverInterface.md, "Driver Discovery on Linux"): VK_DRIVER_FILES
// or the older VK_ICD_FILENAMES replace the search; otherwise XDG_CONFIG_DIRS, /etc, XDG_DATA_HOME
// and XDG_DATA_DIRS, each with vulkan/icd.d appended.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The soname Dawn dlopens on Linux. */
export const VULKAN_LOADER = 'libvulkan.so.1';

export interface VulkanStatus {
  /** Whether dlopen finds the loader; `loaderError` holds dlerror's text when it does not. */
  loader: boolean;
  loaderError?: string;
  /** Directories or files searched for driver manifests, in order. */
  searched: string[];
  /** Driver manifests found (file paths). */
  drivers: string[];
}

/**
 * dlopen the loader by its soname, the way Dawn does, through process.dlopen: a library that loads
 * but is no Node addon fails afterwards with "did not self-register", which still proves dlopen found
 * it; a missing one fails with dlerror's "cannot open shared object file".
 */
function probeLoader(): { loader: boolean; loaderError?: string } {
  try {
    process.dlopen({ exports: {} } as NodeJS.Module, VULKAN_LOADER);
    return { loader: true };
  } catch (e) {
    const msg = (e as Error).message;
    if (/self-register|napi_register_module|no module/i.test(msg)) return { loader: true };
    return { loader: false, loaderError: msg };
  }
}

function manifestDirs(env: NodeJS.ProcessEnv): string[] {
  const override = env.VK_DRIVER_FILES ?? env.VK_ICD_FILENAMES;
  if (override) return override.split(':').filter(Boolean);
  const home = os.homedir();
  const configDirs = (env.XDG_CONFIG_DIRS || '/etc/xdg').split(':');
  const dataHome = env.XDG_DATA_HOME || path.join(home, '.local', 'share');
  const dataDirs = (env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':');
  return [...configDirs, '/etc', dataHome, ...dataDirs].filter(Boolean).map((d) => path.join(d, 'vulkan', 'icd.d'));
}

function manifestsIn(entry: string): string[] {
  try {
    const st = fs.statSync(entry);
    if (st.isFile()) return [entry];
    return fs.readdirSync(entry).filter((f) => f.endsWith('.json')).map((f) => path.join(entry, f));
  } catch {
    return [];
  }
}

export function vulkanStatus(env: NodeJS.ProcessEnv = process.env): VulkanStatus {
  const searched = manifestDirs(env);
  return { ...probeLoader(), searched, drivers: [...new Set(searched.flatMap(manifestsIn))] };
}
