export { ADDON_ERROR, MAX_ADDONS_PER_EVENT } from './addon-spec';
export { EventAddons } from './apply-addons';
export type { RequestClient } from './apply-addons';
