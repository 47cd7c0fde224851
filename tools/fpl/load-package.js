// Loads a FHIR NPM package tarball from local disk with fhir-package-loader (the loader SUSHI uses) and
// reports, as JSON on stdout, the load status and what the loader finds for each canonical URL given.
//
//   node load-package.js PACKAGE.tgz NAME VERSION CACHE_DIR [URL...]
//
// The tarball goes into CACHE_DIR the way the loader caches a downloaded package; the registry and
// build-server clients refuse every call, so nothing is downloaded (the package's own dependencies,
// e.g. hl7.fhir.r4.core, are not loaded: SUSHI loads those itself).
'use strict';
const fs = require('fs');
const {
  BasePackageLoader,
  DiskBasedPackageCache,
  LoadStatus,
  createSQLJSPackageDB,
} = require('fhir-package-loader');

const refused = [];
const offlineRegistry = {
  // A concrete version resolves to itself; anything needing the registry is refused.
  async resolveVersion(name, version) {
    if (/^\d+\.\d+\.\d+/.test(version)) return version;
    refused.push(`resolveVersion ${name}#${version}`);
    throw new Error(`offline: cannot resolve ${name}#${version}`);
  },
  async download(name, version) {
    refused.push(`download ${name}#${version}`);
    throw new Error(`offline: will not download ${name}#${version}`);
  },
};
const offlineBuilds = {
  async downloadCurrentBuild(name) {
    refused.push(`downloadCurrentBuild ${name}`);
    throw new Error('offline');
  },
  async getCurrentBuildDate(name) {
    refused.push(`getCurrentBuildDate ${name}`);
    throw new Error('offline');
  },
};

async function main() {
  const [tgz, name, version, cacheDir, ...urls] = process.argv.slice(2);
  const logs = [];
  const log = (level, message) => logs.push(`${level}: ${message}`);
  const cache = new DiskBasedPackageCache(cacheDir, { log });
  await cache.cachePackageTarball(name, version, fs.createReadStream(tgz));
  const db = await createSQLJSPackageDB();
  const loader = new BasePackageLoader(db, cache, offlineRegistry, offlineBuilds, { log });
  const status = await loader.loadPackage(name, version);
  const found = {};
  for (const url of urls) {
    const info = loader.findResourceInfo(url, { scope: name });
    const json = loader.findResourceJSON(url, { scope: name });
    found[url] = info
      ? { resourceType: info.resourceType, id: info.id, version: info.version, url: json && json.url }
      : null;
  }
  const infos = loader.findResourceInfos('*', { scope: name });
  process.stdout.write(
    JSON.stringify({
      status,
      loaded: status === LoadStatus.LOADED,
      packageJSON: loader.findPackageJSON(name, version) || null,
      resourceCount: infos.length,
      found,
      refused,
      logs,
    }) + '\n'
  );
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
