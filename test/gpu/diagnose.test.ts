// The one-line errors for a machine where WebGPU cannot run, and the device flags. The Vulkan
// probe reads real files: driver manifests in a temp directory named by VK_ICD_FILENAMES, as the
// Vulkan loader reads them. (The errors from real Dawn runs without a loader, a driver or a usable
// driver are in errors.slow.test.ts.)

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { deviceSession, formatDevice } from '../../src/cli/device.js';
import { explainNoAdapter, vulkanStatus, VULKAN_LOADER } from '../../src/graph/webgpu/index.js';

describe('why there is no WebGPU adapter', () => {
  it('names the missing Vulkan loader and what to install', () => {
    const msg = explainNoAdapter({ loader: false, loaderError: `${VULKAN_LOADER}: cannot open shared object file`, searched: [], drivers: [] });
    expect(msg).toMatch(/^no WebGPU adapter: the Vulkan loader libvulkan\.so\.1 cannot be loaded \(libvulkan\.so\.1: cannot open shared object file\); install libvulkan1 and a Vulkan driver/);
    expect(msg).toContain('mesa-vulkan-drivers >= 25');
    expect(msg).not.toContain('\n');
  });

  it('names the directories searched when the loader finds no driver', () => {
    const msg = explainNoAdapter({ loader: true, searched: ['/etc/vulkan/icd.d', '/usr/share/vulkan/icd.d'], drivers: [] });
    expect(msg).toContain('finds no Vulkan driver (no ICD manifest in /etc/vulkan/icd.d, /usr/share/vulkan/icd.d)');
  });

  it('names the drivers Dawn found no device in, and the old-Mesa cause', () => {
    const msg = explainNoAdapter({ loader: true, searched: ['/usr/share/vulkan/icd.d'], drivers: ['/usr/share/vulkan/icd.d/lvp_icd.x86_64.json'] });
    expect(msg).toContain('the Vulkan drivers lvp_icd.x86_64.json gave Dawn no device it accepts');
    expect(msg).toContain("Debian 12's 22.3 lavapipe");
  });

  it('finds driver manifests where VK_ICD_FILENAMES points, files and directories alike', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-icd-'));
    fs.writeFileSync(path.join(dir, 'a_icd.json'), '{}');
    fs.writeFileSync(path.join(dir, 'notes.txt'), '');
    const single = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-icd-')), 'b_icd.json');
    fs.writeFileSync(single, '{}');
    const s = vulkanStatus({ VK_ICD_FILENAMES: `${dir}:${single}:/nonexistent/c_icd.json` });
    expect(s.searched).toEqual([dir, single, '/nonexistent/c_icd.json']);
    expect(s.drivers).toEqual([path.join(dir, 'a_icd.json'), single]);
    expect(vulkanStatus({ VK_DRIVER_FILES: single, VK_ICD_FILENAMES: dir }).drivers).toEqual([single]);
  });

  it('searches the XDG directories with vulkan/icd.d appended when no variable overrides them', () => {
    const s = vulkanStatus({ XDG_CONFIG_DIRS: '/cfg', XDG_DATA_HOME: '/home/u/.local/share', XDG_DATA_DIRS: '/a:/b' });
    expect(s.searched).toEqual(['/cfg/vulkan/icd.d', '/etc/vulkan/icd.d', '/home/u/.local/share/vulkan/icd.d', '/a/vulkan/icd.d', '/b/vulkan/icd.d']);
  });
});

describe('--device and --adapter', () => {
  it('maps to session options, cpu to none', () => {
    expect(deviceSession({})).toEqual({});
    expect(deviceSession({ device: 'cpu' })).toEqual({});
    expect(deviceSession({ device: 'webgpu', adapter: '0' })).toEqual({ provider: 'webgpu', adapter: '0' });
    expect(deviceSession({ device: 'cuda' })).toEqual({ provider: 'cuda' });
  });

  it('rejects an unknown device and an adapter without webgpu, naming the flag', () => {
    expect(() => deviceSession({ device: 'gpu' })).toThrow("--device must be one of cpu, cuda, webgpu, got 'gpu'");
    expect(() => deviceSession({ adapter: 'llvmpipe' })).toThrow('--adapter llvmpipe chooses a WebGPU adapter: it needs --device webgpu');
  });

  it('formats where a session runs', () => {
    expect(formatDevice({ provider: 'cpu' })).toBe('cpu');
    expect(formatDevice({ provider: 'webgpu', adapter: { name: 'llvmpipe', backend: 'vulkan', vendor: 'mesa', architecture: 'software', description: '', software: true } })).toBe('webgpu on llvmpipe [vulkan, software]');
  });
});
