import { buildAll } from '../../scripts/build-plugins.ts';

export default async function setup(): Promise<void> {
  await buildAll();
}
