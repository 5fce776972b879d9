import { rejectionOf } from './sink';

const failure = (status: number, body: string): Error =>
  new Error(`HTTP request failed, statusCode=${status}, error=${body}`);

describe('QuestDB sink: a permanent rejection is told from an outage', () => {
  it('takes a 400 with the line QuestDB names as a row rejection', () => {
    const body =
      '{"code":"invalid","message":"failed to parse line protocol:errors encountered on line(s):\\nerror in line 2: table: t, column: e; cast error from protocol type: STRING to column type: LONG","line":2,"errorId":"x-1"}';
    expect(rejectionOf(failure(400, body))).toEqual({ line: 2, reason: expect.stringMatching(/cast error/) });
  });

  it("takes QuestDB's 500 for one line it cannot write (no OS error) as a row rejection", () => {
    const body =
      '{"code":"internal error","message":"failed to parse line protocol:errors encountered on line(s):write error: t, errno: -1, error: decimal columns cannot be created automatically [table=t~19, columnName=exact]","line":1,"errorId":"x-2"}';
    expect(rejectionOf(failure(500, body))).toEqual({
      line: 1,
      reason: expect.stringMatching(/decimal columns cannot be created automatically/),
    });
  });

  it('takes a 413 as too large (split, no line), and outages as outages', () => {
    expect(rejectionOf(failure(413, 'too large'))).toEqual({ line: undefined, reason: 'too large' });
    expect(
      rejectionOf(
        failure(500, '{"code":"internal error","message":"write error: t, errno: 28, error: no space left"}'),
      ),
    ).toBeUndefined();
    expect(rejectionOf(failure(503, 'unavailable'))).toBeUndefined();
    expect(rejectionOf(failure(401, 'unauthorized'))).toBeUndefined();
    expect(rejectionOf(new Error('HTTP request timeout, no response from server in time'))).toBeUndefined();
    expect(rejectionOf(new Error('connect ECONNREFUSED 127.0.0.1:9000'))).toBeUndefined();
  });
});
