import { fakeApi, json } from "../test/render";
import { authorisedFetch, renew, signIn, signOut } from "./session";

describe("the session", () => {
  afterEach(async () => {
    await signOut();
  });

  it("renews the access token once on a 401 and retries the request with the new one", async () => {
    let refreshes = 0;
    const calls = fakeApi([
      [/POST \/api\/auth\/login/, () => json(200, { access_token: "first", expires_in: 900 })],
      [
        /POST \/api\/auth\/refresh/,
        () => {
          refreshes += 1;
          return json(200, { access_token: "second", expires_in: 900 });
        },
      ],
      [
        /GET \/api\/patients/,
        (request) =>
          request.headers.get("Authorization") === "Bearer second" ? json(200, { items: [] }) : json(401, {}),
      ],
      [/POST \/api\/auth\/logout/, () => new Response(null, { status: 204 })],
    ]);
    await signIn("pablo.navarro@sonrisa.demo", "secreto");
    const answer = await authorisedFetch(new Request("http://localhost/api/patients"));
    expect(answer.status).toBe(200);
    expect(refreshes).toBe(1);
    const refresh = calls.find((c) => c.url.endsWith("/api/auth/refresh"));
    expect(await refresh?.text()).toBe("{}"); // the refresh token travels only in the httpOnly cookie
  });

  it("renews once however many requests ask at the same time", async () => {
    let refreshes = 0;
    fakeApi([
      [
        /POST \/api\/auth\/refresh/,
        async () => {
          refreshes += 1;
          await new Promise((r) => setTimeout(r, 20));
          return json(200, { access_token: "t", expires_in: 900 });
        },
      ],
    ]);
    const results = await Promise.all([renew(), renew(), renew()]);
    expect(results).toEqual([true, true, true]);
    expect(refreshes).toBe(1);
  });
});
