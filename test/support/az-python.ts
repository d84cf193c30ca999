// Python run with Debian's python3-azure, to check coffer's CLI against the
// libraries az 2.45 itself runs on.

/** The messages msrest's query serializer raises for maxresults outside the track-1 SDK's 1..25 (Debian's python3-msrest). */
export const MSREST_MAXRESULTS = `
import json
from msrest import Serializer
out = []
for n in (26, 0):
    try:
        Serializer().query('maxresults', n, 'int', maximum=25, minimum=1)
    except Exception as e:
        out.append(str(e))
print(json.dumps(out))
`;
