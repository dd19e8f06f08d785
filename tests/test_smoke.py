def test_home_and_signup_pages_answer(client):
    assert client.get("/").status_code == 200
    assert client.get("/signup").status_code == 200
