// Cornerstone3D start-up and DICOMweb series loading shared by the CT and CXR viewers.
import { init as coreInit, imageLoader, cache, getWebWorkerManager } from '@cornerstonejs/core';
import dicomImageLoader, { init as dicomLoaderInit } from '@cornerstonejs/dicom-image-loader';
import { init as toolsInit } from '@cornerstonejs/tools';

let started = false;

export function initCornerstone() {
  if (started) return;
  coreInit();
  // Workers decode frames off the main thread; two machines' worth of cores is plenty here.
  const cores = navigator.hardwareConcurrency || 2;
  dicomLoaderInit({ maxWebWorkers: Math.max(1, Math.min(4, cores - 1)) });
  toolsInit();
  prewarmDecoder();
  started = true;
}

// Start one decode worker now, while the metadata downloads: otherwise the first frame waits for
// the worker script to load and compile. Its load counter is given back so balancing is unchanged.
function prewarmDecoder() {
  try {
    const manager = getWebWorkerManager();
    const { index } = manager.getNextWorkerAPI('dicomImageLoader') || {};
    const props = manager.workerRegistry?.dicomImageLoader;
    if (index !== undefined && props?.loadCounters) props.loadCounters[index] -= 1;
  } catch (error) {
    console.warn('decoder prewarm skipped', error);
  }
}

const value = (item, tag) => item?.[tag]?.Value;
const first = (item, tag) => value(item, tag)?.[0];

// Position of a slice along its own normal: the order a radiologist scrolls through.
function positionAlongNormal(item) {
  const iop = value(item, '00200037');
  const ipp = value(item, '00200032');
  if (!iop || !ipp) return null;
  const [r0, r1, r2, c0, c1, c2] = iop.map(Number);
  const n = [r1 * c2 - r2 * c1, r2 * c0 - r0 * c2, r0 * c1 - r1 * c0];
  return n[0] * ipp[0] + n[1] * ipp[1] + n[2] * ipp[2];
}

/**
 * Fetch WADO-RS series metadata, register it with the wadors loader and return imageIds
 * sorted along the slice normal (instance number when there is no geometry).
 */
export async function loadSeriesImageIds({ root, studyUid, seriesUid, credentials = 'same-origin' }) {
  const base = root.endsWith('/') ? root : `${root}/`;
  const seriesUrl = `${base}studies/${studyUid}/series/${seriesUid}`;
  const response = await fetch(`${seriesUrl}/metadata`, {
    headers: { Accept: 'application/dicom+json' },
    credentials,
  });
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try {
      detail = (await response.json()).detail || detail;
    } catch {
      // not JSON: keep the status line
    }
    throw new Error(`Could not read the series metadata: ${detail}`);
  }
  const instances = await response.json();
  if (!Array.isArray(instances) || instances.length === 0) {
    throw new Error('The series has no images.');
  }
  const entries = instances.map((item) => ({
    item,
    sop: first(item, '00080018'),
    frames: Number(first(item, '00280008') || 1),
    position: positionAlongNormal(item),
    number: Number(first(item, '00200013') || 0),
  }));
  entries.sort((a, b) =>
    a.position !== null && b.position !== null ? a.position - b.position : a.number - b.number,
  );
  const imageIds = [];
  for (const entry of entries) {
    for (let frame = 1; frame <= entry.frames; frame += 1) {
      const imageId = `wadors:${seriesUrl}/instances/${entry.sop}/frames/${frame}`;
      dicomImageLoader.wadors.metaDataManager.add(imageId, entry.item);
      imageIds.push(imageId);
    }
  }
  return { imageIds, instances: entries.map((e) => e.item) };
}

export function studyDescription(instances) {
  const item = instances[0] || {};
  return {
    series: first(item, '0008103E') || '',
    study: first(item, '00081030') || '',
    modality: first(item, '00080060') || '',
  };
}

export { cache, imageLoader };
