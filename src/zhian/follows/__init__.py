"""The follow list (辖区关注): persons, vehicles and houses an officer keeps an eye on."""
